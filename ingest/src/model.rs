//! The domain model: what a case is, in the vocabulary of the one-stop centres.
//!
//! Every enum has a stable English code (what the store and the API use) and its Chinese name (what
//! exports and people use); [`std::str::FromStr`] accepts either.

use std::fmt;
use std::str::FromStr;

/// A value that is not one of an enum's codes or Chinese names.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown {kind} {value:?} (expected one of: {expected})")]
pub struct UnknownValue {
    pub kind: &'static str,
    pub value: String,
    pub expected: String,
}

/// Defines a closed vocabulary: variants with an English code and a Chinese name.
macro_rules! vocabulary {
    ($(#[$meta:meta])* $name:ident, $kind:literal { $($(#[$vmeta:meta])* $variant:ident = ($code:literal, $zh:literal),)+ }) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub enum $name { $($(#[$vmeta])* $variant,)+ }

        impl $name {
            /// Every value, in declaration order.
            pub const ALL: &'static [$name] = &[$($name::$variant,)+];
            /// What the values are called in messages.
            pub const KIND: &'static str = $kind;
            /// Every value's (code, Chinese name), in declaration order: the column's vocabulary in
            /// [`crate::schema`].
            pub const WORDS: &'static [(&'static str, &'static str)] = &[$(($code, $zh),)+];

            /// The stable English code.
            pub fn code(self) -> &'static str {
                match self { $($name::$variant => $code,)+ }
            }

            /// The Chinese name.
            pub fn zh(self) -> &'static str {
                match self { $($name::$variant => $zh,)+ }
            }
        }

        impl FromStr for $name {
            type Err = UnknownValue;
            fn from_str(s: &str) -> Result<Self, UnknownValue> {
                let t = s.trim();
                $(if t.eq_ignore_ascii_case($code) || t == $zh { return Ok($name::$variant); })+
                Err(UnknownValue {
                    kind: $kind,
                    value: s.to_string(),
                    expected: [$($code),+].join(", "),
                })
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(self.code())
            }
        }

        impl serde::Serialize for $name {
            fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.serialize_str(self.code())
            }
        }

        impl<'de> serde::Deserialize<'de> for $name {
            fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                let s = String::deserialize(d)?;
                s.parse().map_err(serde::de::Error::custom)
            }
        }
    };
}

vocabulary! {
    /// The five classes of items a centre receives.
    CaseClass, "class" {
        Dispute = ("dispute", "矛盾纠纷调解"),
        Livelihood = ("livelihood", "民生诉求服务"),
        Complaint = ("complaint", "投诉举报反映"),
        Consultation = ("consultation", "信息咨询服务"),
        LegalAid = ("legal_aid", "法律援助申请"),
    }
}

vocabulary! {
    /// The 18 dispute categories.
    Category, "category" {
        MarriageFamily = ("marriage_family", "婚姻家庭"),
        Neighbour = ("neighbour", "邻里关系"),
        HousingLand = ("housing_land", "房产宅基地"),
        Contract = ("contract", "合同纠纷"),
        Business = ("business", "生产经营"),
        Damages = ("damages", "损害赔偿"),
        ForestLand = ("forest_land", "山林权属"),
        LandAcquisition = ("land_acquisition", "征地拆迁"),
        Environment = ("environment", "环境污染"),
        Labour = ("labour", "劳动争议"),
        Tourism = ("tourism", "旅游纠纷"),
        Consumer = ("consumer", "消费维权"),
        Medical = ("medical", "医疗纠纷"),
        Traffic = ("traffic", "交通事故"),
        PropertyMgmt = ("property_mgmt", "房产物业"),
        IntellectualProperty = ("ip", "知识产权"),
        UrbanPlanning = ("urban_planning", "城乡规划"),
        Other = ("other", "其他"),
    }
}

vocabulary! {
    /// How hard a case is; sets its deadline.
    Severity, "severity" {
        Simple = ("simple", "简易"),
        General = ("general", "一般"),
        Major = ("major", "较大"),
        Serious = ("serious", "重大疑难"),
    }
}

impl Severity {
    /// Days allowed to close a dispute of this severity (the "2030" of "137+2030": 3/7/20/30).
    pub fn deadline_days(self) -> u32 {
        match self {
            Severity::Simple => 3,
            Severity::General => 7,
            Severity::Major => 20,
            Severity::Serious => 30,
        }
    }
}

vocabulary! {
    /// Where an item came in.
    Channel, "channel" {
        WalkIn = ("walk_in", "来访"),
        Hotline12345 = ("hotline_12345", "12345热线"),
        MiniProgram = ("mini_program", "微信小程序"),
        GridPatrol = ("grid_patrol", "网格巡查"),
        Department = ("department", "部门移交"),
        Police110 = ("police_110", "110警情"),
        Online = ("online", "网上受理"),
    }
}

vocabulary! {
    /// Where an item stands.
    Status, "status" {
        Received = ("received", "已受理"),
        Assigned = ("assigned", "已分派"),
        InProgress = ("in_progress", "办理中"),
        Resolved = ("resolved", "已化解"),
        /// Mediation failed (调解失败): the case ends without agreement.
        Unresolved = ("unresolved", "调解失败"),
        Closed = ("closed", "已办结"),
    }
}

impl Status {
    /// Whether the case has ended (and so must carry a closing time).
    pub fn is_final(self) -> bool {
        matches!(self, Status::Resolved | Status::Unresolved | Status::Closed)
    }
}

impl Satisfaction {
    /// Whether the answer counts as satisfied for 满意度 (very, plainly or basically satisfied).
    pub fn is_satisfied(self) -> bool {
        !matches!(self, Satisfaction::Dissatisfied)
    }
}

vocabulary! {
    /// The party's answer on the call-back (回访).
    Satisfaction, "satisfaction" {
        VerySatisfied = ("very_satisfied", "非常满意"),
        Satisfied = ("satisfied", "满意"),
        Basic = ("basic", "基本满意"),
        Dissatisfied = ("dissatisfied", "不满意"),
    }
}

vocabulary! {
    /// The levels of the administrative hierarchy.
    AdminLevel, "admin level" {
        /// A province (or any root above cities): the root of a region of several cities.
        Province = ("province", "省"),
        City = ("city", "市"),
        County = ("county", "县区"),
        Township = ("township", "乡镇街道"),
        Village = ("village", "村社区"),
        Grid = ("grid", "网格"),
    }
}

/// Days allowed for the first reply to any item (the "3" of "137": act at once, reply in 3, close in 7).
pub const REPLY_DEADLINE_DAYS: u32 = 3;

/// Days allowed to close an item that is not a dispute (the "7" of "137").
pub const SERVICE_DEADLINE_DAYS: u32 = 7;

/// Days allowed to close an item of `class` and `severity` under the "137+2030" rules: disputes by
/// severity (3/7/20/30), every other class 7.
pub fn close_deadline_days(class: CaseClass, severity: Severity) -> u32 {
    match class {
        CaseClass::Dispute => severity.deadline_days(),
        _ => SERVICE_DEADLINE_DAYS,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_value_parses_from_its_code_and_its_chinese_name() {
        fn check<T: FromStr<Err = UnknownValue> + Copy + PartialEq + fmt::Debug>(
            all: &[T],
            code: fn(T) -> &'static str,
            zh: fn(T) -> &'static str,
        ) {
            for &v in all {
                assert_eq!(code(v).parse::<T>().unwrap(), v);
                assert_eq!(zh(v).parse::<T>().unwrap(), v);
                assert_eq!(format!(" {} ", code(v).to_uppercase()).parse::<T>().unwrap(), v);
            }
        }
        check(CaseClass::ALL, CaseClass::code, CaseClass::zh);
        check(Category::ALL, Category::code, Category::zh);
        check(Severity::ALL, Severity::code, Severity::zh);
        check(Channel::ALL, Channel::code, Channel::zh);
        check(Status::ALL, Status::code, Status::zh);
        check(Satisfaction::ALL, Satisfaction::code, Satisfaction::zh);
        check(AdminLevel::ALL, AdminLevel::code, AdminLevel::zh);
        assert_eq!(CaseClass::ALL.len(), 5);
        assert_eq!(Category::ALL.len(), 18);
        assert_eq!("劳动争议".parse::<Category>().unwrap(), Category::Labour);
        assert_eq!("调解失败".parse::<Status>().unwrap(), Status::Unresolved);
    }

    #[test]
    fn unknown_values_name_the_kind_and_the_choices() {
        let err = "fishing".parse::<Category>().unwrap_err();
        assert_eq!(err.kind, "category");
        assert!(err.to_string().contains("marriage_family"), "{err}");
        assert!("".parse::<Severity>().is_err());
    }

    #[test]
    fn deadlines_follow_137_2030() {
        let days: Vec<u32> = Severity::ALL.iter().map(|s| s.deadline_days()).collect();
        assert_eq!(days, [3, 7, 20, 30]);
        assert_eq!(close_deadline_days(CaseClass::Dispute, Severity::Major), 20);
        assert_eq!(close_deadline_days(CaseClass::Livelihood, Severity::Major), 7);
    }
}
