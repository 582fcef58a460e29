"""IMAP4rev1/rev2 access to the mailbox store."""
