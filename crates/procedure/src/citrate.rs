//! Citrate from ACD-A anticoagulant: infusion rate and cumulative dose.

/// Total citrate of ACD-A expressed as anhydrous citric acid: 21.7 g/L, the nominal formula
/// (7.3 g citric acid anhydrous + 22.0 g trisodium citrate dihydrate per litre, the latter
/// contributing 22.0 × 192.12/294.10 = 14.37 g citric-acid equivalent); USP specifies
/// 20.59–22.75 g/L (United States Pharmacopeia 26, 2002, p. 158). In kg/m³ (= mg/mL).
pub const ACD_A_CITRATE_KG_M3: f64 = 21.67;

/// Citrate infusion rates (mg citrate per kg body weight per min) above which symptomatic
/// hypocalcaemia becomes likely: about 1.0–1.8 mg/kg/min (docs/physics.md §7.4; unconfirmed
/// as thresholds, cf. Bolan et al., Transfusion 41:1165, 2001; the ends are flagged separately).
pub const CITRATE_RATE_THRESHOLDS_MG_KG_MIN: [f64; 2] = [1.0, 1.8];

/// Citrate returned to the patient per unit time (kg/s): the anticoagulant flow `ac_flow` (m³/s)
/// at citrate concentration `citrate` (kg/m³), less the share that leaves in the product bag
/// (`product_share` = collect-port flow / channel inlet flow, since AC is mixed uniformly into
/// the inlet).
pub fn citrate_infusion_rate(ac_flow: f64, citrate: f64, product_share: f64) -> f64 {
    ac_flow * citrate * (1.0 - product_share)
}

/// kg/s per kg body weight → mg/kg/min.
pub fn to_mg_per_kg_per_min(rate_kg_s: f64, weight_kg: f64) -> f64 {
    rate_kg_s * 1e6 * 60.0 / weight_kg
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Hand calculation: 48 mL/min whole blood at inlet:AC 12 → 4 mL/min ACD-A, 21.67 mg/mL,
    /// 1 mL/min of the 52 mL/min channel inflow to the product, 70 kg patient:
    /// 4 × 21.67 × (1 − 1/52) / 70 = 1.2145 mg/kg/min.
    #[test]
    fn dose_rate_hand_calculation() {
        let ac = 4.0e-6 / 60.0;
        let rate = citrate_infusion_rate(ac, ACD_A_CITRATE_KG_M3, 1.0 / 52.0);
        let mg_kg_min = to_mg_per_kg_per_min(rate, 70.0);
        assert!((mg_kg_min - 4.0 * 21.67 * (51.0 / 52.0) / 70.0).abs() < 1e-12);
        assert!((mg_kg_min - 1.2145).abs() < 1e-4, "{mg_kg_min}");
    }
}
