{#- Fails unless every (R score, FM score) cell 1..5 x 1..5 maps to exactly one row of the RFM
    segment map, so editing the seed can never drop or double-count a customer. -#}
{% test segments_rfm_grid_covered_once(model) %}
    with

    scores as (
        select 1 as score union all select 2 union all select 3 union all select 4
        union all select 5
    ),

    cells as (
        select r.score as r_score, fm.score as fm_score
        from scores as r
        cross join scores as fm
    ),

    matches as (
        select
            cells.r_score,
            cells.fm_score,
            count(segment_map.segment_name) as mapped_segments
        from cells
        left join {{ model }} as segment_map
            on cells.r_score between segment_map.r_score_min and segment_map.r_score_max
            and cells.fm_score between segment_map.fm_score_min and segment_map.fm_score_max
        group by cells.r_score, cells.fm_score
    )

    select * from matches where mapped_segments <> 1
{% endtest %}
