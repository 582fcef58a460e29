"""SMTP endpoints: the MX on port 25 and submission on 587/465."""
