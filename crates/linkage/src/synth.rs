//! Generated test data with planted matches: person records with controlled
//! corruptions, and random encodings with planted near-copies.
//!
//! Real cross-border files cannot be used to test linkage, so tests and
//! benchmarks build their own: a person is generated once, written as a
//! Mexican file would (accents, both surnames, day-first dates) and again as
//! a US file would, with the corruptions that hide matches in practice —
//! typos, a dropped maternal surname, a nickname, day and month swapped, a
//! missing field. Which record matches which is known, so recall and
//! precision can be measured.

use rand::seq::SliceRandom;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use rayon::prelude::*;

use crate::encoding::ClkBatch;
use crate::record::{DateOfBirth, PersonRecord, Sex};

const GIVEN_MALE: &[&str] = &[
    "José Luis",
    "Juan",
    "Miguel Ángel",
    "Francisco",
    "Jesús",
    "Antonio",
    "Alejandro",
    "Pedro",
    "Guillermo",
    "Ricardo",
    "Fernando",
    "Jorge",
    "Eduardo",
    "Roberto",
    "Manuel",
    "Rafael",
    "William",
    "James",
    "Robert",
    "Michael",
    "David",
    "Richard",
    "Thomas",
    "Charles",
    "Joseph",
    "Christopher",
    "Daniel",
    "Matthew",
    "Anthony",
    "Andrew",
    "Ignacio",
    "Enrique",
    "Óscar",
    "Raúl",
    "Sergio",
    "Arturo",
    "Héctor",
    "Ramón",
    "Víctor",
    "Adolfo",
];
const GIVEN_FEMALE: &[&str] = &[
    "María José",
    "Guadalupe",
    "María Fernanda",
    "Ana",
    "Rosario",
    "Dolores",
    "Josefina",
    "Concepción",
    "Alicia",
    "Patricia",
    "Verónica",
    "Leticia",
    "Mónica",
    "Claudia",
    "Gabriela",
    "Mary",
    "Elizabeth",
    "Jennifer",
    "Susan",
    "Margaret",
    "Katherine",
    "Rebecca",
    "Victoria",
    "Sarah",
    "Jessica",
    "Laura",
    "Andrea",
    "Beatriz",
    "Carmen",
    "Silvia",
];
const SURNAMES: &[&str] = &[
    "Hernández",
    "García",
    "Martínez",
    "López",
    "González",
    "Pérez",
    "Rodríguez",
    "Sánchez",
    "Ramírez",
    "Cruz",
    "Flores",
    "Gómez",
    "Morales",
    "Vázquez",
    "Reyes",
    "Jiménez",
    "Torres",
    "Díaz",
    "Gutiérrez",
    "Ruiz",
    "Mendoza",
    "Aguilar",
    "Ortiz",
    "Moreno",
    "Castillo",
    "Romero",
    "Álvarez",
    "Méndez",
    "Chávez",
    "Rivera",
    "Juárez",
    "Ramos",
    "Domínguez",
    "Herrera",
    "Medina",
    "Castro",
    "Vargas",
    "Guzmán",
    "Velázquez",
    "Muñoz",
    "Smith",
    "Johnson",
    "Williams",
    "Brown",
    "Jones",
    "Miller",
    "Davis",
    "Wilson",
    "Anderson",
    "Taylor",
    "Thomas",
    "Moore",
    "Jackson",
    "Martin",
    "Lee",
    "Thompson",
    "White",
    "Harris",
    "Clark",
    "Lewis",
    "Robinson",
    "Walker",
    "Young",
    "Allen",
    "King",
    "Wright",
    "Scott",
    "Green",
    "Baker",
    "Adams",
    "Nelson",
    "Hill",
    "Campbell",
    "Mitchell",
    "Roberts",
    "Carter",
    "Phillips",
    "Evans",
    "Turner",
    "Parker",
    "de la Cruz",
    "del Río",
    "Peña",
    "Ochoa",
    "Salazar",
    "Navarro",
    "Delgado",
    "Cortés",
    "Fuentes",
    "Espinoza",
    "Zamora",
    "Ibarra",
    "Valencia",
    "Carrillo",
    "Lara",
    "Rosales",
];
const PLACES: &[&str] = &[
    "Guadalajara, Jalisco",
    "Monterrey, Nuevo León",
    "Ciudad de México",
    "Tijuana, Baja California",
    "Ciudad Juárez, Chihuahua",
    "Culiacán, Sinaloa",
    "Hermosillo, Sonora",
    "Puebla, Puebla",
    "Oaxaca, Oaxaca",
    "Morelia, Michoacán",
    "Los Angeles, California",
    "Houston, Texas",
    "El Paso, Texas",
    "Phoenix, Arizona",
    "San Diego, California",
    "Chicago, Illinois",
    "San Antonio, Texas",
    "Tucson, Arizona",
    "Albuquerque, New Mexico",
    "Dallas, Texas",
];
/// Formal name → nickname a US file might carry.
const NICKS: &[(&str, &str)] = &[
    ("José Luis", "Pepe"),
    ("Francisco", "Paco"),
    ("Guadalupe", "Lupe"),
    ("Jesús", "Chuy"),
    ("Guillermo", "Memo"),
    ("William", "Bill"),
    ("Robert", "Bob"),
    ("Richard", "Dick"),
    ("James", "Jim"),
    ("Michael", "Mike"),
    ("Thomas", "Tom"),
    ("Joseph", "Joe"),
    ("Elizabeth", "Liz"),
    ("Katherine", "Kate"),
    ("Ignacio", "Nacho"),
];

/// A corruption applied to the second copy of a planted match.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Corruption {
    /// One character substituted, deleted, inserted or transposed in a name.
    Typo,
    /// The maternal surname is missing.
    DropMaternalSurname,
    /// Day and month of birth swapped.
    SwapDayMonth,
    /// The date of birth is missing.
    MissingDate,
    /// The given name is written as a nickname and the second given name is
    /// reduced to its initial.
    Nickname,
    /// Accents stripped and everything upper case (normalisation must undo it).
    Ascii,
    /// Given names filed as the surname and the surname as given names (the
    /// maternal surname stays).
    SwapNames,
    /// A middle name added after the given names.
    MiddleName,
}

/// All corruptions, applied in turn to planted pairs.
pub const ALL_CORRUPTIONS: [Corruption; 6] = [
    Corruption::Typo,
    Corruption::DropMaternalSurname,
    Corruption::SwapDayMonth,
    Corruption::MissingDate,
    Corruption::Nickname,
    Corruption::Ascii,
];

/// Raw (not yet normalised) fields of a generated person, as a file holds them.
#[derive(Debug, Clone)]
struct RawPerson {
    given: String,
    paternal: String,
    maternal: String,
    dob: DateOfBirth,
    sex: Sex,
    place: String,
}

fn pick<'a>(rng: &mut ChaCha8Rng, xs: &[&'a str]) -> &'a str {
    xs.choose(rng).copied().unwrap_or("")
}

fn person(rng: &mut ChaCha8Rng) -> RawPerson {
    let sex = if rng.gen_bool(0.5) {
        Sex::Male
    } else {
        Sex::Female
    };
    let given = match sex {
        Sex::Male => pick(rng, GIVEN_MALE),
        Sex::Female => pick(rng, GIVEN_FEMALE),
    };
    RawPerson {
        given: given.to_owned(),
        paternal: pick(rng, SURNAMES).to_owned(),
        maternal: pick(rng, SURNAMES).to_owned(),
        dob: DateOfBirth {
            year: rng.gen_range(1940..2006),
            month: rng.gen_range(1..=12),
            day: rng.gen_range(1..=28),
        },
        sex,
        place: pick(rng, PLACES).to_owned(),
    }
}

fn typo(rng: &mut ChaCha8Rng, s: &str) -> String {
    let mut c: Vec<char> = s.chars().collect();
    if c.len() < 3 {
        return s.to_owned();
    }
    let i = rng.gen_range(1..c.len() - 1);
    match rng.gen_range(0..4) {
        0 => {
            if let Some(x) = c.get_mut(i) {
                *x = char::from(b'a' + rng.gen_range(0..26u8));
            }
        }
        1 => {
            c.remove(i);
        }
        2 => c.insert(i, char::from(b'a' + rng.gen_range(0..26u8))),
        _ => c.swap(i, i + 1),
    }
    c.into_iter().collect()
}

fn to_record(p: &RawPerson, id: String) -> PersonRecord {
    let (paternal, maternal) = crate::normalize::split_surnames(&p.paternal, &p.maternal);
    PersonRecord {
        local_id: id,
        given_names: crate::normalize::normalize_given_names(&p.given),
        paternal_surname: paternal,
        maternal_surname: maternal,
        date_of_birth: Some(p.dob),
        sex: Some(p.sex),
        place_of_birth: crate::normalize::normalize_place(&p.place),
        ..PersonRecord::default()
    }
}

fn corrupt(rng: &mut ChaCha8Rng, p: &RawPerson, c: Corruption) -> PersonRecord {
    let mut q = p.clone();
    let mut missing_date = false;
    match c {
        Corruption::Typo => {
            if rng.gen_bool(0.5) {
                q.paternal = typo(rng, &q.paternal);
            } else {
                q.given = typo(rng, &q.given);
            }
        }
        Corruption::DropMaternalSurname => q.maternal.clear(),
        Corruption::SwapDayMonth => {
            std::mem::swap(&mut q.dob.day, &mut q.dob.month);
        }
        Corruption::MissingDate => missing_date = true,
        Corruption::Nickname => {
            if let Some((_, nick)) = NICKS.iter().find(|(f, _)| *f == q.given) {
                q.given = (*nick).to_owned();
            } else if let Some((first, second)) = q.given.split_once(' ') {
                let initial: String = second.chars().take(1).collect();
                q.given = format!("{first} {initial}.");
            } else {
                q.given = typo(rng, &q.given);
            }
        }
        Corruption::SwapNames => std::mem::swap(&mut q.given, &mut q.paternal),
        Corruption::MiddleName => {
            q.given = format!(
                "{} {}",
                q.given,
                pick(rng, &["Alejandro", "Beatriz", "Tomas", "Ines"])
            );
        }
        Corruption::Ascii => {
            q.given = crate::normalize::normalize_text(&q.given).to_uppercase();
            q.paternal = crate::normalize::normalize_text(&q.paternal).to_uppercase();
            q.maternal = crate::normalize::normalize_text(&q.maternal).to_uppercase();
        }
    }
    let mut r = to_record(&q, String::new());
    if missing_date {
        r.date_of_birth = None;
    }
    r
}

/// Two generated files and the truth about them.
#[derive(Debug, Clone)]
pub struct PlantedRecords {
    /// Side A (clean copies).
    pub a: Vec<PersonRecord>,
    /// Side B (corrupted copies of planted matches, plus others), shuffled.
    pub b: Vec<PersonRecord>,
    /// True pairs `(index in a, index in b)`.
    pub truth: Vec<(u32, u32)>,
}

/// Generates `n` records per side, `matches` of which are the same people,
/// the B copies corrupted in turn by each of `corruptions`.
pub fn planted_records(
    n: usize,
    matches: usize,
    corruptions: &[Corruption],
    seed: u64,
) -> PlantedRecords {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let matches = matches.min(n);
    let mut a = Vec::with_capacity(n);
    let mut b = Vec::with_capacity(n);
    let mut truth_b_of_a = Vec::new();
    for i in 0..n {
        let p = person(&mut rng);
        a.push(to_record(&p, format!("a{i}")));
        if i < matches {
            let c = corruptions
                .get(i % corruptions.len().max(1))
                .copied()
                .unwrap_or(Corruption::Typo);
            truth_b_of_a.push((i, b.len()));
            b.push(corrupt(&mut rng, &p, c));
        } else {
            b.push(to_record(&person(&mut rng), String::new()));
        }
    }
    let mut order: Vec<usize> = (0..b.len()).collect();
    order.shuffle(&mut rng);
    let mut position = vec![0usize; b.len()];
    for (new, &old) in order.iter().enumerate() {
        if let Some(p) = position.get_mut(old) {
            *p = new;
        }
    }
    let shuffled: Vec<PersonRecord> = order.iter().filter_map(|&o| b.get(o).cloned()).collect();
    let truth = truth_b_of_a
        .into_iter()
        .map(|(ia, ib)| (ia as u32, position.get(ib).copied().unwrap_or(0) as u32))
        .collect();
    PlantedRecords {
        a,
        b: shuffled,
        truth,
    }
}

/// Random encodings with planted near-copies, for scale tests.
#[derive(Debug, Clone)]
pub struct PlantedClks {
    /// Side A.
    pub a: ClkBatch,
    /// Side B.
    pub b: ClkBatch,
    /// True pairs `(index in a, index in b)`.
    pub truth: Vec<(u32, u32)>,
}

/// `n` random 1024-bit encodings (density 1/2) per side; the first
/// `matches` of A reappear in B at random positions with each bit flipped
/// with probability 1/16, 1/8 or about 0.18 in turn (Dice ≈ 0.94, 0.875,
/// 0.82: the spread of true matches on FEBRL).
pub fn planted_clks(n: usize, matches: usize, seed: u64) -> PlantedClks {
    const W: usize = 16;
    let matches = matches.min(n);
    let gen_words = |seed: u64, count: usize| -> Vec<u64> {
        let mut words = vec![0u64; count * W];
        words
            .par_chunks_mut(4096 * W)
            .enumerate()
            .for_each(|(chunk, dst)| {
                let mut rng = ChaCha8Rng::seed_from_u64(seed ^ ((chunk as u64) << 20));
                for w in dst {
                    *w = rng.r#gen();
                }
            });
        words
    };
    let a_words = gen_words(seed, n);
    let mut b_words = gen_words(seed.wrapping_add(0x9e37), n);
    let mut rng = ChaCha8Rng::seed_from_u64(seed.wrapping_mul(3));
    let mut slots: Vec<usize> = (0..n).collect();
    slots.shuffle(&mut rng);
    let mut truth = Vec::with_capacity(matches);
    for (i, &slot) in slots.iter().enumerate().take(matches) {
        for k in 0..W {
            let r = |rng: &mut ChaCha8Rng| rng.r#gen::<u64>();
            let noise = match i % 3 {
                0 => r(&mut rng) & r(&mut rng) & r(&mut rng) & r(&mut rng),
                1 => r(&mut rng) & r(&mut rng) & r(&mut rng),
                _ => {
                    (r(&mut rng) & r(&mut rng) & r(&mut rng))
                        | (r(&mut rng) & r(&mut rng) & r(&mut rng) & r(&mut rng))
                }
            };
            let src = a_words.get(i * W + k).copied().unwrap_or(0);
            if let Some(dst) = b_words.get_mut(slot * W + k) {
                *dst = src ^ noise;
            }
        }
        truth.push((i as u32, slot as u32));
    }
    PlantedClks {
        a: ClkBatch::from_words(W, a_words),
        b: ClkBatch::from_words(W, b_words),
        truth,
    }
}

/// Random 1024-bit encodings drawn the way anonlink's throughput benchmark
/// draws them, so both tools scan the same kind of data: a pool of 10,000
/// random filters (density 1/2); side A draws `n` of them at random from the
/// first 8,000, side B `n` from the last 8,000. The 6,000 shared filters make
/// exact duplicates across the sides (Dice 1), about `n² · 6000 / 8000²`
/// pairs; every other pair is unrelated.
pub fn pooled_clks(n: usize, seed: u64) -> (ClkBatch, ClkBatch) {
    const W: usize = 16;
    const POOL: usize = 10_000;
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let pool: Vec<u64> = (0..POOL * W).map(|_| rng.r#gen()).collect();
    let mut draw = |from: usize, to: usize| -> ClkBatch {
        let mut words = Vec::with_capacity(n * W);
        for _ in 0..n {
            let i = rng.gen_range(from..to);
            words.extend_from_slice(pool.get(i * W..(i + 1) * W).unwrap_or(&[0; W]));
        }
        ClkBatch::from_words(W, words)
    };
    let a = draw(0, 8_000);
    let b = draw(2_000, POOL);
    (a, b)
}
