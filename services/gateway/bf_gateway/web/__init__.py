"""The web dashboard: static pages and the routes that serve them."""
