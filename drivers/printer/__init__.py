"""ESC/POS receipt printers: transports, Chinese text encoding and a simulator."""
