def test_agent_creates_and_reads_a_ticket(world, make_ticket):
    ticket = make_ticket(requester_id="alice")
    got = world["agent_all"].get(f"/v1/tickets/{ticket['id']}")
    assert got.status_code == 200, got.body
    assert got.data["subject"] == "Printer on fire"
    assert got.data["organization_id"] == "acme"
