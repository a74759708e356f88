from django.apps import AppConfig


class DesksConfig(AppConfig):
    """The role desks (受理台, 派遣台, 处置台, 指挥长视图), the case list and detail pages, their
    forms and presenters: the web face of `cases`, above `cases`, `routing` and `intake`."""

    name = "cityops.desks"
    label = "desks"
    verbose_name = "业务台"
