"""``python -m frontline.runtime ...``: Rasa's command line on Frontline's runtime."""

from frontline.runtime.launcher import main

if __name__ == "__main__":
    main()
