"""Former name of the launcher: ``python -m frontline.rasa_server ...`` still starts Rasa
on Frontline's runtime, exactly as ``python -m frontline.runtime ...`` does
(:mod:`frontline.runtime.launcher`); kept for deployments and scripts that name it."""

from frontline.runtime.launcher import main

if __name__ == "__main__":
    main()
