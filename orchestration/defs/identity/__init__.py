"""Identity resolution assets: person records in, stable customer keys out."""
