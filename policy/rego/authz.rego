# Reelguard's default authorization policy.
#
# The gateway evaluates data.reelguard.authz.decision for every authenticated
# request. Operators extend the policy by adding `allow if { ... }` rules or
# `deny contains "reason_id" if { ... }` rules in this package: any deny
# vetoes every allow, so a new deny rule is always safe to add.
package reelguard.authz

known_roles := {"user", "service", "ingest", "admin"}

# decision is total: the default covers any edit that leaves a part undefined.
default decision := {
	"allow": false,
	"reason": "default_deny",
	"obligations": {"tier": "none", "degrade": false},
}

decision := {
	"allow": permitted,
	"reason": reason,
	"obligations": {"tier": tier, "degrade": degrade},
}

default permitted := false

permitted if {
	allow
	count(deny) == 0
}

# reason names the first deny reason in sorted order, so the answer does not
# depend on rule order.
reason := "allowed" if {
	permitted
} else := sort(deny)[0] if {
	count(deny) > 0
} else := "default_deny"

# recommend_target is the {userid} of GET /recommend/{userid}.
recommend_target := input.path[1] if {
	is_array(input.path)
	count(input.path) == 2
	input.path[0] == "recommend"
	is_string(input.path[1])
	input.path[1] != ""
}

# --- allow rules ----------------------------------------------------------

# A user reads only its own recommendations.
allow if {
	input.principal.role == "user"
	input.method == "GET"
	recommend_target == input.principal.sub
}

# The streaming front end reads anyone's (and is watched for extraction).
allow if {
	input.principal.role == "service"
	input.method == "GET"
	recommend_target
}

allow if {
	input.principal.role == "ingest"
	input.method == "POST"
	input.path == ["events"]
}

allow if {
	input.principal.role == "admin"
	is_array(input.path)
	input.path[0] == "admin"
}

allow if {
	input.principal.role == "admin"
	input.method == "GET"
	recommend_target
}

# --- deny rules (each vetoes every allow) ---------------------------------

deny contains "unknown_role" if {
	not known_roles[input.principal.role]
}

deny contains "missing_subject" if {
	not valid_subject
}

deny contains "not_own_user" if {
	input.principal.role == "user"
	input.path[0] == "recommend"
	input.path[1] != input.principal.sub
}

valid_subject if {
	is_string(input.principal.sub)
	input.principal.sub != ""
}

# --- obligations ----------------------------------------------------------

default tier := "none"

tier := input.principal.role if known_roles[input.principal.role]

default degrade := false

degrade if input.suspicion.extraction == true
