"""What a campaign did: counts by state, engagement, by domain (campaign)."""
