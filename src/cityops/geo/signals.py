"""Keep the in-memory lookup index in step with the database.

Single-row saves and deletes (admin, shell, other apps) arrive here; the bulk services
call `lookup.index_changed()` themselves because bulk operations send no signals.
"""

from __future__ import annotations

from django.db.models.signals import post_delete, post_save
from django.dispatch import receiver

from cityops.geo.models import Region, UnitGrid


@receiver(post_save, sender=Region, dispatch_uid="geo-region-saved")
@receiver(post_delete, sender=Region, dispatch_uid="geo-region-deleted")
@receiver(post_save, sender=UnitGrid, dispatch_uid="geo-grid-saved")
@receiver(post_delete, sender=UnitGrid, dispatch_uid="geo-grid-deleted")
def _geo_layer_changed(sender, **kwargs) -> None:
    # Imported here: the lookup pulls in shapely and numpy, which no command needs to start.
    from cityops.geo.lookup import index_changed

    index_changed()
