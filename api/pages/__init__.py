"""The pages (monitoring-centre board, relative's page, installer's page, login) under ``/ui``."""

from api.pages.routes import router

__all__ = ["router"]
