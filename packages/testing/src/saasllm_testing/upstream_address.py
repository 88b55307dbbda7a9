"""Where an OpenAI-compatible upstream listens, as the fake and the child upstreams report it."""

from __future__ import annotations


class UpstreamAddress:
    """:attr:`url` and the OpenAI :attr:`base_url` derived from it; subclasses set ``_url``."""

    _url: str

    @property
    def url(self) -> str:
        """Base URL without ``/v1``, e.g. ``http://127.0.0.1:43121``."""
        return self._url

    @property
    def base_url(self) -> str:
        """The OpenAI ``base_url``: :attr:`url` + ``/v1``."""
        return self._url + "/v1"
