"""Pages served by the API itself: plain HTML + a little JS, no build step."""
