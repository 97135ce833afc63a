package reelguard.authz_test

import data.reelguard.authz

req(role, sub, method, path) := {
	"principal": {"sub": sub, "role": role, "client_ip": "192.0.2.1"},
	"method": method,
	"path": path,
	"suspicion": {},
}

decide(inp) := d if {
	d := authz.decision with input as inp
}

allowed_with(d, tier) if {
	d.allow == true
	d.reason == "allowed"
	d.obligations.tier == tier
	d.obligations.degrade == false
}

denied_with(d, reason) if {
	d.allow == false
	d.reason == reason
}

test_user_reads_own_recommendations if {
	allowed_with(decide(req("user", "42", "GET", ["recommend", "42"])), "user")
}

test_user_cannot_read_other_user if {
	denied_with(decide(req("user", "42", "GET", ["recommend", "43"])), "not_own_user")
}

test_user_cannot_post_events if {
	denied_with(decide(req("user", "42", "POST", ["events"])), "default_deny")
}

test_user_cannot_use_admin if {
	denied_with(decide(req("user", "42", "GET", ["admin", "policy"])), "default_deny")
}

test_user_without_subject_denied if {
	denied_with(decide(req("user", "", "GET", ["recommend", ""])), "missing_subject")
}

test_service_reads_any_user if {
	allowed_with(decide(req("service", "frontend", "GET", ["recommend", "43"])), "service")
}

test_service_cannot_post_recommend if {
	denied_with(decide(req("service", "frontend", "POST", ["recommend", "43"])), "default_deny")
}

test_service_cannot_ingest if {
	denied_with(decide(req("service", "frontend", "POST", ["events"])), "default_deny")
}

test_ingest_posts_events if {
	allowed_with(decide(req("ingest", "collector", "POST", ["events"])), "ingest")
}

test_ingest_cannot_read_recommendations if {
	denied_with(decide(req("ingest", "collector", "GET", ["recommend", "42"])), "default_deny")
}

test_admin_uses_admin_api_any_method if {
	every method in ["GET", "PUT", "DELETE"] {
		allowed_with(decide(req("admin", "root", method, ["admin", "blocks", "ip", "192.0.2.9"])), "admin")
	}
}

test_admin_reads_recommendations if {
	allowed_with(decide(req("admin", "root", "GET", ["recommend", "42"])), "admin")
}

test_admin_cannot_ingest if {
	denied_with(decide(req("admin", "root", "POST", ["events"])), "default_deny")
}

test_unknown_role_denied if {
	d := authz.decision with input as req("superuser", "42", "GET", ["recommend", "42"])
	denied_with(d, "unknown_role")
	d.obligations.tier == "none"
}

test_missing_input_denied if {
	d := authz.decision with input as {}
	d.allow == false
	is_string(d.reason)
}

test_deny_vetoes_allow if {
	d := authz.decision with input as req("admin", "root", "GET", ["admin", "policy"])
		with authz.deny as {"zz_operator_veto", "maintenance"}
	denied_with(d, "maintenance")
}

test_extraction_suspicion_degrades if {
	inp := object.union(req("service", "frontend", "GET", ["recommend", "43"]), {"suspicion": {"extraction": true}})
	d := authz.decision with input as inp
	d.allow == true
	d.obligations.degrade == true
}

test_user_extra_segment_denied if {
	denied_with(decide(req("user", "42", "GET", ["recommend", "42", "x"])), "default_deny")
}

test_admin_patch_admin_api if {
	allowed_with(decide(req("admin", "root", "PATCH", ["admin", "policy"])), "admin")
}

test_service_empty_target_denied if {
	denied_with(decide(req("service", "frontend", "GET", ["recommend", ""])), "default_deny")
}

test_grants_are_data if {
	roles := {"auditor": {"tier": "service", "grants": {"GET": {"admin": "subtree"}}}}
	d := authz.decision with input as req("auditor", "a1", "GET", ["admin", "policy"])
		with data.reelguard.roles as roles
	allowed_with(d, "service")
	d2 := authz.decision with input as req("admin", "root", "GET", ["admin", "policy"])
		with data.reelguard.roles as roles
	denied_with(d2, "unknown_role")
}

test_self_scope_follows_data if {
	roles := {"user": {"tier": "user", "grants": {"GET": {"history": "self"}}}}
	allowed_with(decide(req("user", "42", "GET", ["history", "42"])), "user") with data.reelguard.roles as roles
	denied_with(decide(req("user", "42", "GET", ["history", "43"])), "not_own_user") with data.reelguard.roles as roles
}
