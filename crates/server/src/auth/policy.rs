//! The access policy: one function, [`authorize`], decides whether an actor may do an action on an
//! object. Handlers never test roles themselves; list endpoints derive their visibility scope from
//! the same function ([`list_scope`]).
//!
//! The matrix (Oz "User Roles"; "own" = created by the caller, "company" = the caller's company):
//!
//! | resource | ADMIN | OPERATOR | CLIENT ADMIN | CLIENT OPERATOR | CLIENT, CLIENT SERVICE |
//! |---|---|---|---|---|---|
//! | company: read | all | all | own company | own company | own company |
//! | company: create/update/delete | yes | – | – | – | – |
//! | user: read | all | all | company | company | self |
//! | user: create/update/delete | all | – | company users with CLIENT* roles | self (update) | self (update) |
//! | user: change role/company/flags | all | – | company (CLIENT* roles only) | – | – |
//! | folder, media, analysis: read | all | all | company | company | own |
//! | folder: create | yes | – | yes | yes | yes |
//! | folder, media: update | all | – | company | own | own |
//! | folder, media: delete | all | – | company | – | – |
//! | analysis: start | yes | – | company, per `can_start_analysis_*` | own, per flags | own, per flags |
//! | analysis: operator decision | – | all | – | company | – |
//! | company settings (thresholds, webhook) | yes | – | own company | – | – |
//! | collection, person, image: read, 1:N search | all | all | company | company | company |
//! | collection: create/delete; person, image: enrol/delete | all | – | company | – | – |
//!
//! Deviations from Oz's role table are none by design: Oz's CLIENT ADMIN "deletes files in
//! folders" and a CLIENT does not; Oz's operator decision belongs to operators (OPERATOR, CLIENT
//! OPERATOR), not to administrators; Oz's iOS SDK reads the company's collections (alias
//! `blacklist`) as the capturing CLIENT, so every client role reads them.
//!
//! Denials: an object of another company (or of no company, for client roles) answers 404
//! ([`crate::errors::Code::NotFound`]), so its existence does not leak; a visible object the role may not act on
//! answers 403 ([`crate::errors::Code::Forbidden`]).

use uuid::Uuid;

use super::{Actor, Role};
use crate::errors::ApiError;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    Create,
    Read,
    Update,
    Delete,
    /// Change a user's role, company or `can_start_analysis_*` flags.
    Manage,
    /// Start an analysis of this type in a folder (enforced with the analyses endpoints).
    StartAnalysis(AnalysisKind),
    /// Take the operator's decision on an OPERATOR_REQUIRED analysis of a folder.
    Decide,
    /// Read or change a company's settings (thresholds, webhook URL and secret).
    Configure,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AnalysisKind {
    Quality,
    Biometry,
    Collection,
    Documents,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Resource {
    Company,
    User,
    /// Folders and everything inside them (media, analyses).
    Folder,
    Collection,
}

/// What the policy needs to know about the object acted on.
#[derive(Debug, Clone, Copy)]
pub struct Object {
    pub resource: Resource,
    /// The company the object belongs to (for a company: itself).
    pub company_id: Option<Uuid>,
    /// The owner: the creator of a folder, the user itself for a user.
    pub owner_id: Option<Uuid>,
    /// For users: the role the target has (or will have, on create/manage).
    pub role: Option<Role>,
    /// For analyses: the starting user's `can_start_analysis_*` flags.
    pub flags: Flags,
}

#[derive(Debug, Clone, Copy)]
pub struct Flags {
    pub biometry: bool,
    pub quality: bool,
    pub collection: bool,
}

impl Default for Flags {
    fn default() -> Self {
        Flags {
            biometry: true,
            quality: true,
            collection: true,
        }
    }
}

impl Object {
    pub fn new(resource: Resource, company_id: Option<Uuid>, owner_id: Option<Uuid>) -> Self {
        Object {
            resource,
            company_id,
            owner_id,
            role: None,
            flags: Flags::default(),
        }
    }
    pub fn company(id: Uuid) -> Self {
        Object::new(Resource::Company, Some(id), None)
    }
    pub fn user(id: Uuid, company_id: Option<Uuid>, role: Role) -> Self {
        Object {
            role: Some(role),
            ..Object::new(Resource::User, company_id, Some(id))
        }
    }
    pub fn folder(company_id: Option<Uuid>, owner_id: Option<Uuid>) -> Self {
        Object::new(Resource::Folder, company_id, owner_id)
    }
    pub fn collection(company_id: Option<Uuid>) -> Self {
        Object::new(Resource::Collection, company_id, None)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Denial {
    /// 403: the object is visible but the action is not allowed.
    Forbidden,
    /// 404: the caller must not learn that the object exists.
    Hidden,
}

impl From<Denial> for ApiError {
    fn from(d: Denial) -> Self {
        match d {
            Denial::Forbidden => ApiError::forbidden(),
            Denial::Hidden => ApiError::unknown_object(),
        }
    }
}

/// May `actor` do `action` on `object`?
pub fn authorize(actor: &Actor, action: Action, object: &Object) -> Result<(), Denial> {
    use Action::*;
    use Denial::*;
    use Resource::*;
    match actor.role {
        // Oz reserves the operator's decision for operators: an ADMIN manages, it does not review.
        Role::Admin if action == Decide => return Err(Forbidden),
        Role::Admin => return Ok(()),
        Role::Operator => {
            return match action {
                Read | Decide => Ok(()),
                _ => Err(Forbidden),
            }
        }
        _ => {}
    }
    // Client roles from here on.
    let own_company = actor.company_id.is_some() && object.company_id == actor.company_id;
    let is_self_or_own = object.owner_id == Some(actor.user_id);
    if object.resource == Company && matches!(action, Create | Delete) {
        return Err(Forbidden);
    }
    // Client roles never create or promote company-less users (ADMIN, OPERATOR).
    if object.resource == User
        && matches!(action, Create | Manage)
        && object.role.is_some_and(|r| !r.is_client())
    {
        return Err(Forbidden);
    }
    if !own_company {
        return Err(Hidden);
    }
    let allowed = match (object.resource, actor.role) {
        (Company, role) => action == Read || (action == Configure && role == Role::ClientAdmin),
        (User, Role::ClientAdmin) => match action {
            Read => true,
            Create | Update | Delete | Manage => object.role.is_none_or(Role::is_client),
            StartAnalysis(_) | Decide | Configure => false,
        },
        (User, role) => match action {
            Read => role == Role::ClientOperator || is_self_or_own,
            Update => is_self_or_own,
            _ => false,
        },
        (Folder, role) => match action {
            Create => true,
            Read => matches!(role, Role::ClientAdmin | Role::ClientOperator) || is_self_or_own,
            Update => role == Role::ClientAdmin || is_self_or_own,
            // Oz: CLIENT ADMIN deletes files in folders; CLIENT and CLIENT OPERATOR do not.
            Delete => role == Role::ClientAdmin,
            StartAnalysis(kind) => {
                let flag = match kind {
                    AnalysisKind::Quality => object.flags.quality,
                    AnalysisKind::Biometry => object.flags.biometry,
                    AnalysisKind::Collection => object.flags.collection,
                    AnalysisKind::Documents => true,
                };
                flag && (role == Role::ClientAdmin || is_self_or_own)
            }
            // Oz: the decision on OPERATOR_REQUIRED is an operator's (the CLIENT OPERATOR within
            // its company); administrators manage, they do not review.
            Decide => role == Role::ClientOperator,
            Manage | Configure => false,
        },
        // Every client role reads its company's blacklists (Oz's SDK looks up alias "blacklist"
        // as the capturing user); only the company admin manages them.
        (Collection, role) => action == Read || role == Role::ClientAdmin,
    };
    if allowed {
        Ok(())
    } else {
        Err(Forbidden)
    }
}

/// The role half of a collection check, asked before the collection is even looked up: a client
/// role without any right on collections gets 403 for every collection id — its own company's,
/// another company's or none — so it learns nothing. Company-less roles (ADMIN, OPERATOR) are
/// decided on the object alone.
pub fn authorize_collection_role(actor: &Actor, action: Action) -> Result<(), Denial> {
    if actor.company_id.is_none() {
        return Ok(());
    }
    authorize(actor, action, &Object::collection(actor.company_id))
}

/// Which objects of a resource a list endpoint shows to `actor`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scope {
    All,
    Company(Uuid),
    Own(Uuid),
    Nothing,
}

/// The read scope, derived from [`authorize`] by asking about representative objects.
pub fn list_scope(actor: &Actor, resource: Resource) -> Scope {
    let stranger = Uuid::nil();
    let probe = |company: Option<Uuid>, owner: Option<Uuid>| {
        let mut o = Object::new(resource, company, owner);
        if resource == Resource::User {
            o.role = Some(Role::Client);
        }
        authorize(actor, Action::Read, &o).is_ok()
    };
    if probe(Some(stranger), Some(stranger)) {
        return Scope::All;
    }
    match actor.company_id {
        Some(c) if probe(Some(c), Some(stranger)) => Scope::Company(c),
        Some(c) if probe(Some(c), Some(actor.user_id)) => Scope::Own(actor.user_id),
        _ => Scope::Nothing,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn actor(role: Role, company: Option<Uuid>) -> Actor {
        Actor {
            user_id: Uuid::new_v4(),
            company_id: company,
            role,
            session_id: Uuid::new_v4(),
        }
    }

    #[test]
    fn the_matrix() {
        let a = Uuid::new_v4();
        let b = Uuid::new_v4();
        let admin = actor(Role::Admin, None);
        let op = actor(Role::Operator, None);
        let cadmin = actor(Role::ClientAdmin, Some(a));
        let cop = actor(Role::ClientOperator, Some(a));
        let client = actor(Role::Client, Some(a));
        let service = actor(Role::ClientService, Some(a));

        let other_folder = Object::folder(Some(b), Some(Uuid::new_v4()));
        let colleague_folder = Object::folder(Some(a), Some(Uuid::new_v4()));
        let own_folder = Object::folder(Some(a), Some(client.user_id));

        assert!(authorize(&admin, Action::Delete, &other_folder).is_ok());
        assert!(authorize(&op, Action::Read, &other_folder).is_ok());
        assert_eq!(
            authorize(&op, Action::Delete, &other_folder),
            Err(Denial::Forbidden)
        );
        for who in [&cadmin, &cop, &client, &service] {
            assert_eq!(
                authorize(who, Action::Read, &other_folder),
                Err(Denial::Hidden)
            );
            assert_eq!(
                authorize(who, Action::Update, &Object::company(b)),
                Err(Denial::Hidden)
            );
            assert_eq!(
                authorize(who, Action::Create, &Object::company(a)),
                Err(Denial::Forbidden)
            );
            assert!(authorize(who, Action::Read, &Object::company(a)).is_ok());
        }
        assert!(authorize(&cadmin, Action::Delete, &colleague_folder).is_ok());
        assert!(authorize(&cop, Action::Read, &colleague_folder).is_ok());
        assert_eq!(
            authorize(&cop, Action::Delete, &colleague_folder),
            Err(Denial::Forbidden)
        );
        assert_eq!(
            authorize(&client, Action::Read, &colleague_folder),
            Err(Denial::Forbidden)
        );
        assert_eq!(
            authorize(&client, Action::Delete, &own_folder),
            Err(Denial::Forbidden)
        );
        assert!(authorize(&client, Action::Update, &own_folder).is_ok());
        assert_eq!(
            authorize(&cadmin, Action::Decide, &colleague_folder),
            Err(Denial::Forbidden)
        );

        let new_admin = Object::user(Uuid::new_v4(), Some(a), Role::Admin);
        assert_eq!(
            authorize(&cadmin, Action::Create, &new_admin),
            Err(Denial::Forbidden)
        );
        let new_client = Object::user(Uuid::new_v4(), Some(a), Role::Client);
        assert!(authorize(&cadmin, Action::Create, &new_client).is_ok());
        assert_eq!(
            authorize(&client, Action::Create, &new_client),
            Err(Denial::Forbidden)
        );
        let me = Object::user(client.user_id, Some(a), Role::Client);
        assert!(authorize(&client, Action::Update, &me).is_ok());
        assert_eq!(
            authorize(&client, Action::Manage, &me),
            Err(Denial::Forbidden)
        );

        let mut no_quality = own_folder;
        no_quality.flags.quality = false;
        let start = |k| Action::StartAnalysis(k);
        assert!(authorize(&client, start(AnalysisKind::Biometry), &no_quality).is_ok());
        assert!(authorize(&op, Action::Decide, &other_folder).is_ok());
        assert!(authorize(&cop, Action::Decide, &colleague_folder).is_ok());
        assert_eq!(
            authorize(&client, Action::Decide, &own_folder),
            Err(Denial::Forbidden)
        );
        assert!(authorize(&cadmin, Action::Configure, &Object::company(a)).is_ok());
        assert_eq!(
            authorize(&cop, Action::Configure, &Object::company(a)),
            Err(Denial::Forbidden)
        );
        assert_eq!(
            authorize(&op, Action::Configure, &Object::company(a)),
            Err(Denial::Forbidden)
        );
        assert_eq!(
            authorize(&client, start(AnalysisKind::Quality), &no_quality),
            Err(Denial::Forbidden)
        );
    }

    #[test]
    fn collections_matrix() {
        let a = Uuid::new_v4();
        let b = Uuid::new_v4();
        let ours = Object::collection(Some(a));
        let theirs = Object::collection(Some(b));
        let all = [Action::Create, Action::Read, Action::Update, Action::Delete];
        let admin = actor(Role::Admin, None);
        let cadmin = actor(Role::ClientAdmin, Some(a));
        for action in all {
            assert!(authorize(&admin, action, &theirs).is_ok());
            assert!(authorize(&cadmin, action, &ours).is_ok());
            assert_eq!(authorize(&cadmin, action, &theirs), Err(Denial::Hidden));
        }
        let op = actor(Role::Operator, None);
        assert!(authorize(&op, Action::Read, &theirs).is_ok());
        for action in [Action::Create, Action::Update, Action::Delete] {
            assert_eq!(authorize(&op, action, &ours), Err(Denial::Forbidden));
        }
        for role in [Role::Client, Role::ClientOperator, Role::ClientService] {
            let who = actor(role, Some(a));
            assert!(authorize(&who, Action::Read, &ours).is_ok(), "{role:?}");
            for action in all {
                if action != Action::Read {
                    assert_eq!(
                        authorize(&who, action, &ours),
                        Err(Denial::Forbidden),
                        "{role:?}"
                    );
                }
                assert_eq!(
                    authorize(&who, action, &theirs),
                    Err(Denial::Hidden),
                    "{role:?}"
                );
            }
            assert_eq!(list_scope(&who, Resource::Collection), Scope::Company(a));
        }
        assert_eq!(list_scope(&cadmin, Resource::Collection), Scope::Company(a));
        assert_eq!(list_scope(&op, Resource::Collection), Scope::All);
    }

    #[test]
    fn scopes() {
        let a = Uuid::new_v4();
        let client = actor(Role::Client, Some(a));
        assert_eq!(
            list_scope(&actor(Role::Operator, None), Resource::Folder),
            Scope::All
        );
        assert_eq!(
            list_scope(&actor(Role::ClientOperator, Some(a)), Resource::Folder),
            Scope::Company(a)
        );
        assert_eq!(
            list_scope(&client, Resource::Folder),
            Scope::Own(client.user_id)
        );
        assert_eq!(
            list_scope(&client, Resource::User),
            Scope::Own(client.user_id)
        );
        assert_eq!(list_scope(&client, Resource::Company), Scope::Company(a));
        assert_eq!(
            list_scope(&actor(Role::Client, None), Resource::Folder),
            Scope::Nothing
        );
    }
}
