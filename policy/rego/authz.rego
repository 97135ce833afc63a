# Reelguard's default authorization policy.
#
# The gateway evaluates data.reelguard.authz.decision for every authenticated
# request. Who may do what is data (data.json beside this file):
#
#   roles[role].grants[method][first path segment] = scope
#
# where the scope says what the rest of the path may be:
#   "exact"     nothing: the path is just that segment (POST /events)
#   "self"      one more segment, the principal's own subject (a user's own id)
#   "any_user"  one more, non-empty segment (any user's id)
#   "subtree"   anything below (the admin API)
# and roles[role].tier is the rate tier the gateway applies.
#
# Operators extend the policy with `allow if { ... }` rules or
# `deny contains "reason_id" if { ... }` rules in this package: any deny
# vetoes every allow, so a new deny rule is always safe to add.
#
# The rules are written for speed (one decision is on every request's path):
# conditions on input are equalities OPA's rule index resolves without
# evaluating bodies, each data lookup happens once, and nothing iterates.
package reelguard.authz

import data.reelguard.roles

# decision is total: the default covers any edit that leaves a part undefined.
default decision := {
	"allow": false,
	"reason": "default_deny",
	"obligations": {"tier": "none", "degrade": false},
}

# A veto wins, named by the least reason so the answer does not depend on
# rule order; then an allow; then the most telling denial.
decision := {"allow": false, "reason": min(deny), "obligations": obligations} if {
	some _ in deny
} else := {"allow": true, "reason": "allowed", "obligations": obligations} if {
	allow
} else := {"allow": false, "reason": denial, "obligations": obligations}

# --- allow ------------------------------------------------------------------

allow if within(roles[input.principal.role].grants[input.method][input.path[0]])

within("exact") if count(input.path) == 1

within("self") if {
	count(input.path) == 2
	input.path[1] == input.principal.sub
}

within("any_user") if {
	count(input.path) == 2
	input.path[1] != ""
}

within("subtree")

# --- deny (each vetoes every allow) ------------------------------------------

# The gateway always sends the token's subject; an empty one never passes.
deny contains "missing_subject" if input.principal.sub == ""

# --- why a request without a grant is denied ---------------------------------

denial := "unknown_role" if {
	not roles[input.principal.role]
} else := "not_own_user" if {
	roles[input.principal.role].grants[input.method][input.path[0]] == "self"
	count(input.path) == 2
} else := "default_deny"

# --- obligations --------------------------------------------------------------

default obligations := {"tier": "none", "degrade": false}

obligations := {"tier": roles[input.principal.role].tier, "degrade": degrade}

# Principals the anomaly detectors flag for extraction get degraded answers.
default degrade := false

degrade if input.suspicion.extraction == true
