"""The Django peer with the mix's reads (issue 30): its settings and its POST /submit as
they are, plus GET routes for a customer's balance and tickets, written the way the peer's
own view is (the Django ORM, hordak's balance machinery, helpdesk's Ticket). Lives in our
bench, not in the peer: the peer's code is not ours to change."""
