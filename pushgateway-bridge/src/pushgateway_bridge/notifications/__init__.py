"""The System Service's notifications: requests, templates, store, delivery on every channel, real time."""
