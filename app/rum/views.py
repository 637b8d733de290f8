"""View models of the RUM pages: the site form, and the Web Vitals page's figures."""

from __future__ import annotations

from dataclasses import dataclass

from app.rum import sites
from app.rum.models import Site


@dataclass
class SiteForm:
    """The site form as posted: origins one per line (or separated by spaces or commas)."""

    name: str = ""
    allowed_origins: str = ""
    sample_rate: str = "1"
    page_cap: str = str(sites.DEFAULT_PAGE_CAP)

    def origins(self) -> list[str]:
        return self.allowed_origins.replace(",", " ").split()

    def parsed(self) -> tuple[str, list[str], float, int]:
        """(name, origins, sample rate, page cap), validated; raises :class:`sites.SiteError`."""
        name = sites.normalise_name(self.name)
        origins = sites.normalise_origins(self.origins())
        try:
            sample_rate = float(self.sample_rate.strip())
        except ValueError:
            raise sites.SiteError(
                f"sample rate must be a number above 0 and at most 1, got {self.sample_rate!r}"
            ) from None
        try:
            page_cap = int(self.page_cap.strip())
        except ValueError:
            raise sites.SiteError(
                f"page cap must be a whole number, got {self.page_cap!r}"
            ) from None
        return name, origins, sites.check_sample_rate(sample_rate), sites.check_page_cap(page_cap)

    @classmethod
    def of(cls, site: Site) -> SiteForm:
        return cls(
            name=site.name,
            allowed_origins="\n".join(site.allowed_origins),
            sample_rate=sites.format_sample_rate(site.sample_rate),
            page_cap=str(site.page_cap),
        )
