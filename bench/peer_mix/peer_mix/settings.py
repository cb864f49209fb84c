"""The peer's settings, with the mix's URLs."""

from peer.settings import *  # noqa: F403  (the peer's production-style settings as they are)

ROOT_URLCONF = "peer_mix.urls"
