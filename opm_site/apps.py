from django.contrib.admin.apps import AdminConfig


class OpmAdminConfig(AdminConfig):
    """The admin is the board's workplace: our AdminSite adds the board dashboard to the index."""

    default_site = "opm_site.admin_site.OpmAdminSite"
