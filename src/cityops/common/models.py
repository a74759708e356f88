from django.db import models


class TimeStampedModel(models.Model):
    """Adds creation and modification times to every row that people edit."""

    created_at = models.DateTimeField("创建时间", auto_now_add=True)
    updated_at = models.DateTimeField("修改时间", auto_now=True)

    class Meta:
        abstract = True
