"""The handover's stored form: only what differs from the defaults, read back exactly."""

from __future__ import annotations

import json

from extension.providers.genesys_om.state import HandoverOptions, HandoverState


def test_a_fresh_handover_stores_its_ids_and_start_only() -> None:
    state = HandoverState("support", "g-1", "c-1", "i-1", "q-1", "Support", started_at=100.0)
    doc = state.to_doc()
    assert doc == {"provider": "genesysCloudOM", "connection": "support", "genesys_user_id": "g-1",
                   "conversation_id": "c-1", "integration_id": "i-1", "queue_id": "q-1", "queue_name": "Support",
                   "started_at": 100.0}
    assert HandoverState.from_doc(json.loads(json.dumps(doc))) == state


def test_every_changed_field_is_stored_and_read_back() -> None:
    state = HandoverState("support", "g-1", "c-1", "i-1", "q-1", "Support", status="active",
                          options=HandoverOptions(accepted_message="Hold on", cancel_button_text="Stop",
                                                  send_resolve_event=False),
                          outbox=[{"text": "hi", "messageId": "g-1-1"}], next_message_no=2, delay_notified=True,
                          pending_end_at=5.0, send_tokens=0.0, send_at=7.5)
    doc = json.loads(json.dumps(state.to_doc()))
    assert doc["options"] == {"accepted_message": "Hold on", "cancel_button_text": "Stop",
                              "send_resolve_event": False}
    assert "signature_notified" not in doc and doc["send_tokens"] == 0.0  # 0.0 tokens is not "a full bucket"
    assert HandoverState.from_doc(doc) == state
