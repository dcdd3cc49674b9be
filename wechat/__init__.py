"""Everything that talks to WeChat: the official-account callback (signatures, AES crypto, parsing,
replies), retry de-duplication and the reply deadline, the access-token manager, the outbound
senders (customer-service, template and subscribe messages) and ``code2session``. What to answer
is the assistant's business; this package only carries it to and from WeChat."""
