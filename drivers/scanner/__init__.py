"""Barcode scanners: keyboard-wedge (evdev), serial and a simulator."""
