"""The Kivy kiosk UI; import kiosk.ui.boot and configure() before anything imports kivy."""
