"""The customer card panel on email deliverability: suppression, bounces and the staff
"email invalid" mark (filled in by the deliverability work)."""
