"""ISP tests take their tolerances from rawkit.testing.isp.ISP_TOLERANCES (one place)."""
