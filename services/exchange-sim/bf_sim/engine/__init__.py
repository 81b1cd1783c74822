"""Market simulation: price paths and the order book of each simulated account."""
