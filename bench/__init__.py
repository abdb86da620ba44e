"""The benchmark behind ``python manage.py bench``: the real pipeline beside a naive baseline,
measured in the same run on the same machine, with the fake providers from ``bench/fakes``."""
