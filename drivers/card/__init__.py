"""IC card readers: PC/SC driver, APDU dialogue and a simulator."""
