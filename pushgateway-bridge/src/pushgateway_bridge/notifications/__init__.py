"""The System Service's notifications: requests, templates, the store, delivery on every channel, real time."""
