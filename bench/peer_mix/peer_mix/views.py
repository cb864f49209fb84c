"""The mix's two reads on the peer, as its own view would write them.

GET /customers/<id>/balance: the customer's prepaid credits through hordak's
`with_balances()` (the same call POST /submit makes). GET /tickets?customer_id=&limit=: the
customer's newest helpdesk tickets (helpdesk keys a ticket to its submitter's e-mail) with
their queue. No authentication: the peer has none (CreditDesk's reads pay for theirs)."""

from django.http import JsonResponse
from django.views.decorators.http import require_GET
from helpdesk.models import Ticket
from hordak.models import Account
from paidline.models import Customer

CURRENCY = "EUR"


@require_GET
def balance(request, customer_id):
    try:
        customer = Customer.objects.select_related("account").get(pk=customer_id)
    except Customer.DoesNotExist:
        return JsonResponse({"error": "unknown customer"}, status=404)
    value = (
        Account.objects.filter(pk=customer.account_id)
        .with_balances()
        .values_list("balance", flat=True)
        .get()
    )
    return JsonResponse({"customer_id": customer.id, "available": str(value[CURRENCY].amount)})


@require_GET
def tickets(request):
    try:
        customer = Customer.objects.get(pk=int(request.GET["customer_id"]))
        limit = min(max(int(request.GET.get("limit", 50)), 1), 100)
    except (KeyError, ValueError):
        return JsonResponse({"error": "expected ?customer_id=N[&limit=N]"}, status=400)
    except Customer.DoesNotExist:
        return JsonResponse({"error": "unknown customer"}, status=404)
    rows = (
        Ticket.objects.filter(submitter_email=customer.email)
        .select_related("queue")
        .order_by("-id")[:limit]
    )
    return JsonResponse(
        {
            "data": [
                {
                    "id": t.id,
                    "title": t.title,
                    "description": t.description,
                    "queue": t.queue.slug,
                    "status": t.get_status_display(),
                    "priority": t.priority,
                    "created": t.created.isoformat(),
                    "modified": t.modified.isoformat(),
                }
                for t in rows
            ]
        }
    )
