"""``python -m bf_alerter``: run the alerting and audit-projection service."""

from bf_alerter.bootstrap import main

if __name__ == "__main__":
    main()
