from cityops.accounts.roles import role_label
from cityops.web.navigation import nav_for


def navigation(request):
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {"nav_items": [], "user_roles": []}
    if getattr(request, "cityops_login_pending", False):
        # A second factor or a new password is still owed: offer no page that would bounce back.
        return {"nav_items": [], "user_roles": [role_label(code) for code in sorted(user.role_codes)]}
    path = request.path
    items = nav_for(user)
    for item in items:
        item["active"] = path == item["url"] or (item["url"] != "/" and path.startswith(item["url"]))
    return {"nav_items": items, "user_roles": [role_label(code) for code in sorted(user.role_codes)]}
