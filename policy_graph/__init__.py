"""The policy knowledge graph (政策法规图谱): policy documents, clauses and claimable items, the
typed fact catalogue, condition trees, enterprise facts, dated parameters, curation, the
three-valued eligibility engine with explanations, and push planning (it enqueues, never sends)."""
