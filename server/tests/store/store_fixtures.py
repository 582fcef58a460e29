"""Names shared by the store tests (a uniquely named module, unlike `conftest`)."""

DOMAIN = "example.test"
ALICE = "alice@example.test"
BOB = "bob@example.test"
