use super::*;

const TIMES: Times = Times {
    start_unix_nano: 1_000,
    unix_nano: 2_000,
};

const TEXT: &str = "# HELP sockscope_sockets TCP sockets.\n\
# TYPE sockscope_sockets gauge\n\
sockscope_sockets{state=\"close_wait\",family=\"ipv4\"} 25\n\
# HELP sockscope_netns_sockets Per namespace.\n\
# TYPE sockscope_netns_sockets gauge\n\
sockscope_netns_sockets{netns=\"web\",container=\"web\",pod=\"\",state=\"close_wait\"} 25\n\
sockscope_netns_sockets{netns=\"other\",container=\"\",pod=\"\",state=\"close_wait\",folded=\"true\"} 3\n\
# HELP sockscope_kernel_counter_total Counters.\n\
# TYPE sockscope_kernel_counter_total counter\n\
sockscope_kernel_counter_total{name=\"TcpExt_ListenOverflows\"} 7\n\
# HELP sockscope_scrape_duration_seconds How long.\n\
# TYPE sockscope_scrape_duration_seconds gauge\n\
sockscope_scrape_duration_seconds 0.25\n\
# HELP sockscope_culprit_sockets Culprits.\n\
# TYPE sockscope_culprit_sockets gauge\n\
sockscope_culprit_sockets{id=\"close_wait_excess\",kind=\"process\",culprit=\"a\\\"b\\\\c\\nd\"} 2\n";

#[test]
fn samples_are_read_back_with_their_escapes() {
    let families = parse(TEXT);
    assert_eq!(families.len(), 5);
    let culprit = &families[4].samples[0];
    assert_eq!(culprit.labels[2], ("culprit".into(), "a\"b\\c\nd".into()));
    assert_eq!(culprit.value, "2");
    assert!(families[2].counter && !families[0].counter);
}

#[test]
fn semantic_conventions_and_one_resource_per_namespace() {
    let host = vec![("host.name".to_string(), "node-a".to_string())];
    let req = request(TEXT, None, &host, TIMES);
    // The host, the namespace `web`, the fold.
    assert_eq!(req.resource_metrics.len(), 3);
    let names: Vec<Vec<&str>> = req
        .resource_metrics
        .iter()
        .map(|r| {
            r.scope_metrics[0]
                .metrics
                .iter()
                .map(|m| m.name.as_str())
                .collect()
        })
        .collect();
    assert_eq!(
        names,
        [
            vec![
                CONNECTIONS,
                "sockscope.kernel_counter",
                "sockscope.scrape_duration",
                "sockscope.culprit_sockets"
            ],
            vec![CONNECTIONS],
            vec![CONNECTIONS],
        ]
    );
    insta::assert_debug_snapshot!("otlp_request", req);
}

#[test]
fn the_bytes_decode_to_the_request() {
    let req = request(TEXT, None, &[], TIMES);
    let bytes = encode(TEXT, None, &[], TIMES);
    assert_eq!(
        proto::ExportMetricsServiceRequest::decode(bytes.as_slice()).unwrap(),
        req
    );
}

#[test]
fn malformed_lines_are_skipped_not_a_panic() {
    for line in [
        "x{a=\"1} 2",
        "x{a} 2",
        "x{=\"\"} 1",
        "x 1 2 3",
        "{} 1",
        "x{a=\"\\",
    ] {
        let _ = parse(&format!("# HELP x y\n# TYPE x gauge\n{line}\n"));
    }
}

/// A classic histogram becomes one OTLP histogram point per label set: finite bounds, counts
/// per bucket (the text's are cumulative), the `+Inf` bucket last, sum and count.
#[test]
fn a_histogram_is_one_point_of_per_bucket_counts() {
    let text = "# HELP sockscope_connection_lifetime_seconds Lifetimes.\n\
# TYPE sockscope_connection_lifetime_seconds histogram\n\
sockscope_connection_lifetime_seconds_bucket{le=\"0.1\"} 3\n\
sockscope_connection_lifetime_seconds_bucket{le=\"1.0\"} 5\n\
sockscope_connection_lifetime_seconds_bucket{le=\"+Inf\"} 9\n\
sockscope_connection_lifetime_seconds_sum 12.5\n\
sockscope_connection_lifetime_seconds_count 9\n";
    let req = request(text, None, &[], TIMES);
    let metrics = &req.resource_metrics[0].scope_metrics[0].metrics;
    assert_eq!(metrics.len(), 1);
    assert_eq!(
        (metrics[0].name.as_str(), metrics[0].unit.as_str()),
        ("sockscope.connection_lifetime", "s")
    );
    let Some(Data::Histogram(h)) = &metrics[0].data else {
        panic!("{:?}", metrics[0].data)
    };
    assert_eq!(h.aggregation_temporality, proto::CUMULATIVE);
    assert_eq!(h.data_points.len(), 1);
    let p = &h.data_points[0];
    assert_eq!(p.explicit_bounds, [0.1, 1.0]);
    assert_eq!(p.bucket_counts, [3, 2, 4]);
    assert_eq!((p.count, p.sum), (9, Some(12.5)));
    assert!(p.attributes.is_empty());
}
