#pragma once
// The control plane's view of the cluster, reported when /metrics renders (CLOUD profile): nodes
// by state, each node's liveness, heartbeat age, breaker and the models it can serve now, and the
// placement index's pools with the work this control plane has on them. A pure function of the
// registry and the index; called on the control plane's thread by the registry's collector.
//
// Cost: O(nodes + pools + pool models) per scrape; nothing on the request path.

#include "common/metrics.h"
#include "placement/placement_index.h"
#include "registry/node_registry.h"

namespace llorch::orchestrator {

void report_cluster_metrics(common::scrape& s, const registry::node_registry& nodes,
                            const placement::placement_index& index, registry::time_point now);

}  // namespace llorch::orchestrator
