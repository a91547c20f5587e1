"""Controllers: baselines, the oracle, adversaries, the policy, the safety shield and the
runtime around them."""
