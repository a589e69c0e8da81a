"""Contract tests: real MinIO answer shapes, read by the bot's client and produced by the simulator.

Each file in ``fixtures/`` is one answer of the real server (status, headers, body),
written from public facts about MinIO's HTTP interface (madmin-go's JSON types,
minio's handlers), with the facts it encodes. ``test_client_contract.py`` serves each
one to :class:`bot.clients.MinioClient` and checks the typed result;
``test_sim_contract.py`` puts the simulator in the same situation and checks that its
answer has the same status, headers, fields, types and units.
"""
