from django.urls import path
from paidline.views import submit

from peer_mix.views import balance, tickets

urlpatterns = [
    path("submit", submit),
    path("customers/<int:customer_id>/balance", balance),
    path("tickets", tickets),
]
