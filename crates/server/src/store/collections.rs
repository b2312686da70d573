//! Blacklist collections, persons and person images (with their embeddings), and the change log
//! that keeps every process's in-memory search index in step ([`crate::collections`]).
//!
//! Every write that changes what a search can find (an image added or removed, a person or a
//! collection deleted) appends to `collection_changes` in the same transaction. Sequence numbers
//! come from the one-row counter `collection_change_seq`, bumped inside that transaction: the row
//! lock (PostgreSQL) or the single writer (SQLite) hands them out in commit order without gaps,
//! so a reader that has applied everything up to `seq` only ever needs `WHERE seq > $seq`.

use serde_json::Value;
use sqlx::any::AnyRow;
use sqlx::{Any, Row, Transaction};
use uuid::Uuid;

use super::{json_col, now_us, parse_uuid, uuid_col, Param, Sql, Store};

#[derive(Debug, Clone)]
pub struct CollectionRow {
    pub collection_id: Uuid,
    pub company_id: Option<Uuid>,
    pub alias: String,
    pub meta_data: Value,
    pub time_created: i64,
    pub time_updated: i64,
}

#[derive(Debug, Clone)]
pub struct PersonRow {
    pub person_id: Uuid,
    pub collection_id: Uuid,
    pub meta_data: Value,
    pub time_created: i64,
    pub time_updated: i64,
}

/// A person image without its embedding (what the API shows).
#[derive(Debug, Clone)]
pub struct PersonImageRow {
    pub person_image_id: Uuid,
    pub person_id: Uuid,
    pub collection_id: Uuid,
    pub format: String,
    pub mime: String,
    pub original_name: String,
    pub file_key: String,
    pub thumb_key: Option<String>,
    pub size_bytes: i64,
    pub width: i64,
    pub height: i64,
    pub tags: Vec<String>,
    pub meta_data: Value,
    pub technical_meta_data: Value,
    /// The model pack that computed the embedding.
    pub embedding_model: String,
    pub time_created: i64,
    pub time_updated: i64,
}

/// An image to insert, with the embedding computed at enrolment.
#[derive(Debug, Clone)]
pub struct NewPersonImage {
    pub row: PersonImageRow,
    pub embedding: Vec<f32>,
}

/// What a change-log entry did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ChangeOp {
    ImageAdded,
    ImageRemoved,
    PersonRemoved,
    CollectionRemoved,
}

impl ChangeOp {
    pub fn as_str(self) -> &'static str {
        match self {
            ChangeOp::ImageAdded => "image_added",
            ChangeOp::ImageRemoved => "image_removed",
            ChangeOp::PersonRemoved => "person_removed",
            ChangeOp::CollectionRemoved => "collection_removed",
        }
    }
    pub fn parse(s: &str) -> Option<ChangeOp> {
        [
            ChangeOp::ImageAdded,
            ChangeOp::ImageRemoved,
            ChangeOp::PersonRemoved,
            ChangeOp::CollectionRemoved,
        ]
        .into_iter()
        .find(|op| op.as_str() == s)
    }
}

/// One change-log entry. For `ImageAdded`, `embedding` is the image's embedding when the image
/// still exists (a later entry removes it otherwise).
#[derive(Debug, Clone)]
pub struct Change {
    pub seq: i64,
    pub op: ChangeOp,
    pub collection_id: Uuid,
    pub person_id: Option<Uuid>,
    pub person_image_id: Option<Uuid>,
    pub embedding: Option<Vec<f32>>,
}

/// An enrolled embedding, for loading the index.
#[derive(Debug, Clone)]
pub struct StoredEmbedding {
    pub collection_id: Uuid,
    pub person_id: Uuid,
    pub person_image_id: Uuid,
    pub embedding: Vec<f32>,
}

/// Little-endian `f32` bytes.
pub fn embedding_to_bytes(v: &[f32]) -> Vec<u8> {
    v.iter().flat_map(|x| x.to_le_bytes()).collect()
}

pub fn embedding_from_bytes(b: &[u8]) -> Vec<f32> {
    b.chunks_exact(4)
        .map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]]))
        .collect()
}

const COLLECTION_COLUMNS: &str =
    "collection_id, company_id, alias, meta_data, time_created, time_updated";
const PERSON_COLUMNS: &str = "person_id, collection_id, meta_data, time_created, time_updated";
const IMAGE_COLUMNS: &str =
    "person_image_id, person_id, collection_id, format, mime, original_name, \
    file_key, thumb_key, size_bytes, width, height, tags, meta_data, technical_meta_data, \
    embedding_model, time_created, time_updated";

fn opt_uuid(r: &AnyRow, col: &str) -> sqlx::Result<Option<Uuid>> {
    Ok(r.try_get::<Option<String>, _>(col)?
        .as_deref()
        .and_then(parse_uuid))
}

fn collection_from_row(r: &AnyRow) -> sqlx::Result<CollectionRow> {
    Ok(CollectionRow {
        collection_id: uuid_col(&r.try_get::<String, _>("collection_id")?),
        company_id: opt_uuid(r, "company_id")?,
        alias: r.try_get("alias")?,
        meta_data: json_col(&r.try_get::<String, _>("meta_data")?),
        time_created: r.try_get("time_created")?,
        time_updated: r.try_get("time_updated")?,
    })
}

fn person_from_row(r: &AnyRow) -> sqlx::Result<PersonRow> {
    Ok(PersonRow {
        person_id: uuid_col(&r.try_get::<String, _>("person_id")?),
        collection_id: uuid_col(&r.try_get::<String, _>("collection_id")?),
        meta_data: json_col(&r.try_get::<String, _>("meta_data")?),
        time_created: r.try_get("time_created")?,
        time_updated: r.try_get("time_updated")?,
    })
}

fn image_from_row(r: &AnyRow) -> sqlx::Result<PersonImageRow> {
    Ok(PersonImageRow {
        person_image_id: uuid_col(&r.try_get::<String, _>("person_image_id")?),
        person_id: uuid_col(&r.try_get::<String, _>("person_id")?),
        collection_id: uuid_col(&r.try_get::<String, _>("collection_id")?),
        format: r.try_get("format")?,
        mime: r.try_get("mime")?,
        original_name: r.try_get("original_name")?,
        file_key: r.try_get("file_key")?,
        thumb_key: r.try_get("thumb_key")?,
        size_bytes: r.try_get("size_bytes")?,
        width: r.try_get("width")?,
        height: r.try_get("height")?,
        tags: serde_json::from_str(&r.try_get::<String, _>("tags")?).unwrap_or_default(),
        meta_data: json_col(&r.try_get::<String, _>("meta_data")?),
        technical_meta_data: json_col(&r.try_get::<String, _>("technical_meta_data")?),
        embedding_model: r.try_get("embedding_model")?,
        time_created: r.try_get("time_created")?,
        time_updated: r.try_get("time_updated")?,
    })
}

/// Reserve `n` change-log sequence numbers in `tx`; returns the first. The counter row stays
/// locked until `tx` ends, which is what orders the log by commit.
async fn next_seqs(tx: &mut Transaction<'static, Any>, n: i64) -> sqlx::Result<i64> {
    let last: i64 = sqlx::query(
        "UPDATE collection_change_seq SET value = value + $1 WHERE id = 1 RETURNING value",
    )
    .bind(n)
    .fetch_one(&mut **tx)
    .await?
    .try_get("value")?;
    Ok(last - n + 1)
}

async fn log_change(
    tx: &mut Transaction<'static, Any>,
    seq: i64,
    op: ChangeOp,
    collection_id: Uuid,
    person_id: Option<Uuid>,
    person_image_id: Option<Uuid>,
) -> sqlx::Result<()> {
    sqlx::query(
        "INSERT INTO collection_changes (seq, op, collection_id, person_id, person_image_id, time_created) \
         VALUES ($1, $2, $3, $4, $5, $6)",
    )
    .bind(seq)
    .bind(op.as_str())
    .bind(collection_id.to_string())
    .bind(person_id.map(|p| p.to_string()))
    .bind(person_image_id.map(|p| p.to_string()))
    .bind(now_us())
    .execute(&mut **tx)
    .await?;
    Ok(())
}

/// Insert images and their `image_added` entries; returns the entries (with embeddings).
async fn insert_images(
    tx: &mut Transaction<'static, Any>,
    images: &[NewPersonImage],
) -> sqlx::Result<Vec<Change>> {
    if images.is_empty() {
        return Ok(Vec::new());
    }
    let first = next_seqs(tx, images.len() as i64).await?;
    let mut changes = Vec::with_capacity(images.len());
    for (i, img) in images.iter().enumerate() {
        let m = &img.row;
        sqlx::query(&format!(
            "INSERT INTO person_images ({IMAGE_COLUMNS}, embedding_dim, embedding) \
             VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9,$10,$11,$12,$13,$14,$15,$16,$17,$18,$19)"
        ))
        .bind(m.person_image_id.to_string())
        .bind(m.person_id.to_string())
        .bind(m.collection_id.to_string())
        .bind(&m.format)
        .bind(&m.mime)
        .bind(&m.original_name)
        .bind(&m.file_key)
        .bind(m.thumb_key.as_deref())
        .bind(m.size_bytes)
        .bind(m.width)
        .bind(m.height)
        .bind(serde_json::to_string(&m.tags).unwrap_or_else(|_| "[]".into()))
        .bind(m.meta_data.to_string())
        .bind(m.technical_meta_data.to_string())
        .bind(&m.embedding_model)
        .bind(m.time_created)
        .bind(m.time_updated)
        .bind(img.embedding.len() as i64)
        .bind(embedding_to_bytes(&img.embedding))
        .execute(&mut **tx)
        .await?;
        let seq = first + i as i64;
        log_change(
            tx,
            seq,
            ChangeOp::ImageAdded,
            m.collection_id,
            Some(m.person_id),
            Some(m.person_image_id),
        )
        .await?;
        changes.push(Change {
            seq,
            op: ChangeOp::ImageAdded,
            collection_id: m.collection_id,
            person_id: Some(m.person_id),
            person_image_id: Some(m.person_image_id),
            embedding: Some(img.embedding.clone()),
        });
    }
    Ok(changes)
}

impl Store {
    pub async fn collection_create(
        &self,
        company_id: Option<Uuid>,
        alias: &str,
        meta_data: &Value,
    ) -> sqlx::Result<CollectionRow> {
        let now = now_us();
        let row = CollectionRow {
            collection_id: Uuid::new_v4(),
            company_id,
            alias: alias.to_string(),
            meta_data: meta_data.clone(),
            time_created: now,
            time_updated: now,
        };
        sqlx::query(&format!(
            "INSERT INTO collections ({COLLECTION_COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6)"
        ))
        .bind(row.collection_id.to_string())
        .bind(company_id.map(|c| c.to_string()))
        .bind(alias)
        .bind(meta_data.to_string())
        .bind(now)
        .bind(now)
        .execute(&self.pool)
        .await?;
        Ok(row)
    }

    pub async fn collection_get(&self, id: Uuid) -> sqlx::Result<Option<CollectionRow>> {
        let row = sqlx::query(&format!(
            "SELECT {COLLECTION_COLUMNS} FROM collections WHERE collection_id = $1"
        ))
        .bind(id.to_string())
        .fetch_optional(&self.pool)
        .await?;
        row.as_ref().map(collection_from_row).transpose()
    }

    /// Ids of the collections of a company (`None`: the collections of no company), oldest first.
    pub async fn collections_of_company(
        &self,
        company_id: Option<Uuid>,
    ) -> sqlx::Result<Vec<Uuid>> {
        let rows = match company_id {
            Some(c) => {
                sqlx::query(
                    "SELECT collection_id FROM collections WHERE company_id = $1 \
                     ORDER BY time_created, collection_id",
                )
                .bind(c.to_string())
                .fetch_all(&self.pool)
                .await?
            }
            None => {
                sqlx::query(
                    "SELECT collection_id FROM collections WHERE company_id IS NULL \
                     ORDER BY time_created, collection_id",
                )
                .fetch_all(&self.pool)
                .await?
            }
        };
        rows.iter()
            .map(|r| Ok(uuid_col(&r.try_get::<String, _>("collection_id")?)))
            .collect()
    }

    /// Collections, newest first; `company_id` restricts to one company (`None`: all).
    pub async fn collection_list(
        &self,
        company_id: Option<Uuid>,
        offset: i64,
        limit: i64,
    ) -> sqlx::Result<(Vec<CollectionRow>, i64)> {
        let mut w = Sql::new("");
        if let Some(c) = company_id {
            w.push(" WHERE company_id = ");
            w.bind(Param::Text(c.to_string()));
        }
        let mut count = w.clone();
        count.text = format!("SELECT COUNT(*) AS n FROM collections{}", w.text);
        let total: i64 = count.query().fetch_one(&self.pool).await?.try_get("n")?;
        let mut q = w;
        q.text = format!(
            "SELECT {COLLECTION_COLUMNS} FROM collections{} \
             ORDER BY time_created DESC, collection_id DESC LIMIT ",
            q.text
        );
        q.bind(Param::Int(limit));
        q.push(" OFFSET ");
        q.bind(Param::Int(offset));
        let rows = q.fetch_all(&self.pool).await?;
        Ok((
            rows.iter()
                .map(collection_from_row)
                .collect::<sqlx::Result<_>>()?,
            total,
        ))
    }

    /// Delete a collection with its persons and images (one transaction, logged).
    pub async fn collection_delete(&self, id: Uuid) -> sqlx::Result<Option<Change>> {
        let mut tx = self.pool.begin().await?;
        let gone = sqlx::query("DELETE FROM collections WHERE collection_id = $1")
            .bind(id.to_string())
            .execute(&mut *tx)
            .await?
            .rows_affected();
        if gone == 0 {
            return Ok(None);
        }
        for table in ["person_images", "persons"] {
            sqlx::query(&format!("DELETE FROM {table} WHERE collection_id = $1"))
                .bind(id.to_string())
                .execute(&mut *tx)
                .await?;
        }
        let seq = next_seqs(&mut tx, 1).await?;
        log_change(&mut tx, seq, ChangeOp::CollectionRemoved, id, None, None).await?;
        tx.commit().await?;
        Ok(Some(Change {
            seq,
            op: ChangeOp::CollectionRemoved,
            collection_id: id,
            person_id: None,
            person_image_id: None,
            embedding: None,
        }))
    }

    /// Insert a person with its first images (one transaction, logged).
    pub async fn person_insert(
        &self,
        person: &PersonRow,
        images: &[NewPersonImage],
    ) -> sqlx::Result<Vec<Change>> {
        let mut tx = self.pool.begin().await?;
        sqlx::query(&format!(
            "INSERT INTO persons ({PERSON_COLUMNS}) VALUES ($1, $2, $3, $4, $5)"
        ))
        .bind(person.person_id.to_string())
        .bind(person.collection_id.to_string())
        .bind(person.meta_data.to_string())
        .bind(person.time_created)
        .bind(person.time_updated)
        .execute(&mut *tx)
        .await?;
        let changes = insert_images(&mut tx, images).await?;
        tx.commit().await?;
        Ok(changes)
    }

    /// Add images to an existing person (one transaction, logged). `None` when the person is gone.
    pub async fn person_images_insert(
        &self,
        person_id: Uuid,
        images: &[NewPersonImage],
    ) -> sqlx::Result<Option<Vec<Change>>> {
        let mut tx = self.pool.begin().await?;
        let touched = sqlx::query("UPDATE persons SET time_updated = $2 WHERE person_id = $1")
            .bind(person_id.to_string())
            .bind(now_us())
            .execute(&mut *tx)
            .await?
            .rows_affected();
        if touched == 0 {
            return Ok(None);
        }
        let changes = insert_images(&mut tx, images).await?;
        tx.commit().await?;
        Ok(Some(changes))
    }

    pub async fn person_get(&self, id: Uuid) -> sqlx::Result<Option<PersonRow>> {
        let row = sqlx::query(&format!(
            "SELECT {PERSON_COLUMNS} FROM persons WHERE person_id = $1"
        ))
        .bind(id.to_string())
        .fetch_optional(&self.pool)
        .await?;
        row.as_ref().map(person_from_row).transpose()
    }

    /// Persons of a collection, oldest first.
    pub async fn person_list(
        &self,
        collection_id: Uuid,
        offset: i64,
        limit: i64,
    ) -> sqlx::Result<(Vec<PersonRow>, i64)> {
        let total: i64 = sqlx::query("SELECT COUNT(*) AS n FROM persons WHERE collection_id = $1")
            .bind(collection_id.to_string())
            .fetch_one(&self.pool)
            .await?
            .try_get("n")?;
        let rows = sqlx::query(&format!(
            "SELECT {PERSON_COLUMNS} FROM persons WHERE collection_id = $1 \
             ORDER BY time_created, person_id LIMIT $2 OFFSET $3"
        ))
        .bind(collection_id.to_string())
        .bind(limit)
        .bind(offset)
        .fetch_all(&self.pool)
        .await?;
        Ok((
            rows.iter()
                .map(person_from_row)
                .collect::<sqlx::Result<_>>()?,
            total,
        ))
    }

    /// Delete a person with its images (one transaction, logged).
    pub async fn person_delete(&self, id: Uuid) -> sqlx::Result<Option<Change>> {
        let Some(person) = self.person_get(id).await? else {
            return Ok(None);
        };
        let mut tx = self.pool.begin().await?;
        sqlx::query("DELETE FROM person_images WHERE person_id = $1")
            .bind(id.to_string())
            .execute(&mut *tx)
            .await?;
        let gone = sqlx::query("DELETE FROM persons WHERE person_id = $1")
            .bind(id.to_string())
            .execute(&mut *tx)
            .await?
            .rows_affected();
        if gone == 0 {
            return Ok(None);
        }
        let seq = next_seqs(&mut tx, 1).await?;
        log_change(
            &mut tx,
            seq,
            ChangeOp::PersonRemoved,
            person.collection_id,
            Some(id),
            None,
        )
        .await?;
        tx.commit().await?;
        Ok(Some(Change {
            seq,
            op: ChangeOp::PersonRemoved,
            collection_id: person.collection_id,
            person_id: Some(id),
            person_image_id: None,
            embedding: None,
        }))
    }

    /// Images of the given persons, in enrolment order.
    pub async fn person_images_of(&self, person_ids: &[Uuid]) -> sqlx::Result<Vec<PersonImageRow>> {
        if person_ids.is_empty() {
            return Ok(Vec::new());
        }
        let mut q = Sql::new(format!(
            "SELECT {IMAGE_COLUMNS} FROM person_images WHERE 1=1"
        ));
        q.and_in("person_id", person_ids, false);
        q.push(" ORDER BY time_created, person_image_id");
        let rows = q.fetch_all(&self.pool).await?;
        rows.iter().map(image_from_row).collect()
    }

    pub async fn person_image_get(&self, id: Uuid) -> sqlx::Result<Option<PersonImageRow>> {
        let row = sqlx::query(&format!(
            "SELECT {IMAGE_COLUMNS} FROM person_images WHERE person_image_id = $1"
        ))
        .bind(id.to_string())
        .fetch_optional(&self.pool)
        .await?;
        row.as_ref().map(image_from_row).transpose()
    }

    pub async fn person_image_count(&self, person_id: Uuid) -> sqlx::Result<i64> {
        sqlx::query("SELECT COUNT(*) AS n FROM person_images WHERE person_id = $1")
            .bind(person_id.to_string())
            .fetch_one(&self.pool)
            .await?
            .try_get("n")
    }

    /// Delete one image (one transaction, logged).
    pub async fn person_image_delete(
        &self,
        image: &PersonImageRow,
    ) -> sqlx::Result<Option<Change>> {
        let mut tx = self.pool.begin().await?;
        let gone = sqlx::query("DELETE FROM person_images WHERE person_image_id = $1")
            .bind(image.person_image_id.to_string())
            .execute(&mut *tx)
            .await?
            .rows_affected();
        if gone == 0 {
            return Ok(None);
        }
        sqlx::query("UPDATE persons SET time_updated = $2 WHERE person_id = $1")
            .bind(image.person_id.to_string())
            .bind(now_us())
            .execute(&mut *tx)
            .await?;
        let seq = next_seqs(&mut tx, 1).await?;
        log_change(
            &mut tx,
            seq,
            ChangeOp::ImageRemoved,
            image.collection_id,
            Some(image.person_id),
            Some(image.person_image_id),
        )
        .await?;
        tx.commit().await?;
        Ok(Some(Change {
            seq,
            op: ChangeOp::ImageRemoved,
            collection_id: image.collection_id,
            person_id: Some(image.person_id),
            person_image_id: Some(image.person_image_id),
            embedding: None,
        }))
    }

    /// The last sequence number handed out (0 before any change).
    pub async fn collection_change_seq(&self) -> sqlx::Result<i64> {
        sqlx::query("SELECT value FROM collection_change_seq WHERE id = 1")
            .fetch_one(&self.pool)
            .await?
            .try_get("value")
    }

    /// Change-log entries after `seq`, oldest first, at most `limit`; `image_added` entries carry
    /// the image's embedding when the image still exists.
    ///
    /// Embeddings made by another model than `model` read as absent: they do not compare.
    pub async fn collection_changes_since(
        &self,
        seq: i64,
        limit: i64,
        model: &str,
    ) -> sqlx::Result<Vec<Change>> {
        let rows = sqlx::query(
            "SELECT c.seq, c.op, c.collection_id, c.person_id, c.person_image_id, i.embedding \
             FROM collection_changes c \
             LEFT JOIN person_images i ON i.person_image_id = c.person_image_id AND c.op = 'image_added' \
             AND i.embedding_model = $3 \
             WHERE c.seq > $1 ORDER BY c.seq LIMIT $2",
        )
        .bind(seq)
        .bind(limit)
        .bind(model)
        .fetch_all(&self.pool)
        .await?;
        let mut out = Vec::with_capacity(rows.len());
        for r in &rows {
            let op: String = r.try_get("op")?;
            let Some(op) = ChangeOp::parse(&op) else {
                tracing::warn!("unknown collection change '{op}' skipped");
                continue;
            };
            out.push(Change {
                seq: r.try_get("seq")?,
                op,
                collection_id: uuid_col(&r.try_get::<String, _>("collection_id")?),
                person_id: opt_uuid(r, "person_id")?,
                person_image_id: opt_uuid(r, "person_image_id")?,
                embedding: r
                    .try_get::<Option<Vec<u8>>, _>("embedding")?
                    .map(|b| embedding_from_bytes(&b)),
            });
        }
        Ok(out)
    }

    /// Enrolled embeddings in `person_image_id` order after `after` (keyset paging), at most
    /// `limit`: the index loads in pages so a million faces never sit in one result set.
    pub async fn collection_embeddings_page(
        &self,
        after: Option<Uuid>,
        limit: i64,
        model: &str,
    ) -> sqlx::Result<Vec<StoredEmbedding>> {
        let rows = sqlx::query(
            "SELECT collection_id, person_id, person_image_id, embedding FROM person_images \
             WHERE person_image_id > $1 AND embedding_model = $3 ORDER BY person_image_id LIMIT $2",
        )
        .bind(after.map(|a| a.to_string()).unwrap_or_default())
        .bind(limit)
        .bind(model)
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|r| {
                Ok(StoredEmbedding {
                    collection_id: uuid_col(&r.try_get::<String, _>("collection_id")?),
                    person_id: uuid_col(&r.try_get::<String, _>("person_id")?),
                    person_image_id: uuid_col(&r.try_get::<String, _>("person_image_id")?),
                    embedding: embedding_from_bytes(&r.try_get::<Vec<u8>, _>("embedding")?),
                })
            })
            .collect()
    }
}

impl Store {
    /// How many enrolled images carry an embedding of another model than `model`.
    pub async fn person_images_to_reindex_count(&self, model: &str) -> sqlx::Result<i64> {
        sqlx::query("SELECT COUNT(*) AS n FROM person_images WHERE embedding_model <> $1")
            .bind(model)
            .fetch_one(&self.pool)
            .await?
            .try_get("n")
    }

    /// Enrolled images whose embedding another model made, in id order after `after` (keyset
    /// paging), at most `limit`.
    pub async fn person_images_to_reindex(
        &self,
        model: &str,
        after: Option<Uuid>,
        limit: i64,
    ) -> sqlx::Result<Vec<PersonImageRow>> {
        let rows = sqlx::query(&format!(
            "SELECT {IMAGE_COLUMNS} FROM person_images \
             WHERE embedding_model <> $1 AND person_image_id > $2 \
             ORDER BY person_image_id LIMIT $3"
        ))
        .bind(model)
        .bind(after.map(|a| a.to_string()).unwrap_or_default())
        .bind(limit)
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(image_from_row).collect()
    }

    /// Replace an image's embedding by one of `model` and log an `image_added` entry, in one
    /// transaction: every running index picks the new vector up (and an index of another model
    /// drops the image, whose vector no longer is of its model). `None` when the image is gone.
    pub async fn person_image_reembed(
        &self,
        image: &PersonImageRow,
        model: &str,
        embedding: &[f32],
    ) -> sqlx::Result<Option<Change>> {
        let mut tx = self.pool.begin().await?;
        let touched = sqlx::query(
            "UPDATE person_images SET embedding_model = $2, embedding_dim = $3, embedding = $4, \
             time_updated = $5 WHERE person_image_id = $1",
        )
        .bind(image.person_image_id.to_string())
        .bind(model)
        .bind(embedding.len() as i64)
        .bind(embedding_to_bytes(embedding))
        .bind(now_us())
        .execute(&mut *tx)
        .await?
        .rows_affected();
        if touched == 0 {
            return Ok(None);
        }
        let seq = next_seqs(&mut tx, 1).await?;
        log_change(
            &mut tx,
            seq,
            ChangeOp::ImageAdded,
            image.collection_id,
            Some(image.person_id),
            Some(image.person_image_id),
        )
        .await?;
        tx.commit().await?;
        Ok(Some(Change {
            seq,
            op: ChangeOp::ImageAdded,
            collection_id: image.collection_id,
            person_id: Some(image.person_id),
            person_image_id: Some(image.person_image_id),
            embedding: Some(embedding.to_vec()),
        }))
    }
}

impl Store {
    /// Drop change-log entries older than `age_secs`, always keeping the newest: a process that
    /// lagged behind longer sees a hole in the sequence and reloads its index from the tables.
    pub async fn collection_changes_prune(&self, age_secs: i64) -> sqlx::Result<u64> {
        Ok(sqlx::query(
            "DELETE FROM collection_changes WHERE time_created < $1 \
             AND seq < (SELECT MAX(seq) FROM collection_changes)",
        )
        .bind(now_us() - age_secs * 1_000_000)
        .execute(&self.pool)
        .await?
        .rows_affected())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn embedding_bytes_round_trip() {
        let v = vec![0.5f32, -1.25, 3.0e-7, f32::MAX];
        let b = embedding_to_bytes(&v);
        assert_eq!(b.len(), 16);
        assert_eq!(embedding_from_bytes(&b), v);
    }

    #[test]
    fn ops_round_trip() {
        for op in [
            ChangeOp::ImageAdded,
            ChangeOp::ImageRemoved,
            ChangeOp::PersonRemoved,
            ChangeOp::CollectionRemoved,
        ] {
            assert_eq!(ChangeOp::parse(op.as_str()), Some(op));
        }
    }
}
