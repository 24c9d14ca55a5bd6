"""Hardware-aware training in torch and deployment of trained networks onto simulated crossbars."""
