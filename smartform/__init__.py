"""Smart forms (智能填表) and smart acceptance (智能受理): form schemas, validators (GB 11643 ID
numbers, GB 32100 credit codes, …), base-library adapters, consent records, prefill and drafts,
pre-review, submission to the approval back end through the outbox, and application status."""
