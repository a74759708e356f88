"""The interface language: Chinese unless the person chose another with the header's switch."""

from __future__ import annotations

from django.conf import settings
from django.utils import translation
from django.utils.cache import patch_vary_headers


def chosen_language(request) -> str:
    """The language stored by the switch (Django's set_language cookie), else LANGUAGE_CODE.

    The browser's Accept-Language is never consulted: the content (categories, addresses,
    citizens' words) is Chinese, and an English browser on a 信创 desktop or a seat PC must not
    turn the navigation into English around it."""
    code = request.COOKIES.get(settings.LANGUAGE_COOKIE_NAME)
    if code:
        try:
            return translation.get_supported_language_variant(code)
        except LookupError:
            pass
    return settings.LANGUAGE_CODE


class LanguageMiddleware:
    """Activates `chosen_language` for the request (in place of Django's LocaleMiddleware)."""

    def __init__(self, get_response) -> None:
        self.get_response = get_response

    def __call__(self, request):
        language = chosen_language(request)
        translation.activate(language)
        request.LANGUAGE_CODE = translation.get_language()
        response = self.get_response(request)
        # Caches must keep the Chinese and the English page apart.
        patch_vary_headers(response, ("Cookie",))
        response.headers.setdefault("Content-Language", language)
        return response
