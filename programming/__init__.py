"""Programming devices in an array: pulses through the drivers, write-and-verify, and the neural pulse predictor."""
