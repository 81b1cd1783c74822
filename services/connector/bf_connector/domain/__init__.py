"""Pure logic: from what the exchange answered to the facts the tester judges. No I/O here."""
