"""Every write in the customers app. Split by topic; import from here."""

from customers.services.customers import *  # noqa: F403
from customers.services.detection import *  # noqa: F403
from customers.services.imports import *  # noqa: F403
